/** The README's Mosquitto ACL file, shared by the tests that run Mosquitto the way it documents. */
export const README_ACL = `# every client (its certificate's CN is its user name, use_identity_as_username true)
pattern read outpost/v1/nodes/%u/snapshot
pattern write outpost/v1/nodes/%u/status
pattern write outpost/v1/nodes/%u/interfaces
pattern read outpost/v1/relay/held-back

user relay
topic write outpost/v1/nodes/+/snapshot
topic write outpost/v1/nodes/+/expected
topic write outpost/v1/relay/held-back
topic write outpost/v1/relay/status
topic read outpost/v1/nodes/+/snapshot
topic read outpost/v1/nodes/+/status
topic read outpost/v1/nodes/+/expected
topic read outpost/v1/nodes/+/interfaces

user fleet
topic read outpost/v1/nodes/+/status
topic read outpost/v1/nodes/+/expected
topic read outpost/v1/relay/status
`;
