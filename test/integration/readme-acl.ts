/** The README's Mosquitto ACL file, shared by the tests that run Mosquitto the way it documents. */
export const README_ACL = `pattern read outpost/v1/nodes/%u/snapshot
pattern write outpost/v1/nodes/%u/status

user relay
topic write outpost/v1/nodes/+/snapshot
topic read outpost/v1/nodes/+/snapshot
topic read outpost/v1/nodes/+/status
`;
