# credsweep: the extra policy for `credsweep scan vault --read-values`. Attach it together with
# credsweep-metadata.hcl. It can read every KV v2 value, so issue it only to the scan job, with a short TTL:
#
#   bao policy write credsweep-read-values deploy/vault/credsweep-read-values.hcl
#   bao token create -policy=credsweep-metadata -policy=credsweep-read-values -ttl=1h -display-name=credsweep
#
# credsweep itself reports this policy (OVERSCOPED, medium: read on every KV mount holding model keys):
# that is accurate, and is why routine runs should use the metadata policy alone.

# KV v2 values (the scanner reads the current version only).
path "+/data/*" {
  capabilities = ["read"]
}

# KV v1 values live at the secret's own path, which no pattern can tell apart from other engines.
# Add one line per KV v1 mount you want classified (without it, their values are reported as denied):
# path "kv1/*" {
#   capabilities = ["read"]
# }
