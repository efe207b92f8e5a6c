// Placeholder replaced by the packaging work (firmware images, tarballs, .deb): see issue 4.
console.log('package: nothing to package yet');
