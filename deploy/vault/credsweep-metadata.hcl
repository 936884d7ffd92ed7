# credsweep: the narrowest policy for `credsweep scan vault` WITHOUT --read-values.
# It never grants read on a KV v2 data/ path, so the scanner cannot see a single secret value.
# Mounts are matched with "+" (one path segment); for mounts nested deeper (team/kv/), add lines for them.
#
#   bao policy write credsweep-metadata deploy/vault/credsweep-metadata.hcl
#   bao token create -policy=credsweep-metadata -ttl=1h -display-name=credsweep

# Which secrets engines exist (type and KV version).
path "sys/mounts" {
  capabilities = ["read"]
}

# KV v2: list folders and read metadata (versions, times, custom_metadata). Never data/.
path "+/metadata/*" {
  capabilities = ["list", "read"]
}

# KV v1 has no metadata: listing names is all the scanner can do without reading values.
# "list" reveals key names only. Replace with one line per KV v1 mount to narrow it further.
path "+/*" {
  capabilities = ["list"]
}

# Token hygiene: listing accessors is root-protected (needs sudo); looking one up returns its
# properties, never the token. Drop these two blocks to skip the token checks.
path "auth/token/accessors" {
  capabilities = ["list", "sudo"]
}
path "auth/token/lookup-accessor" {
  capabilities = ["update"]
}

# ACL policies: names and text.
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
  capabilities = ["read"]
}

# Auth methods and AppRole role settings (TTLs). "+" stops at the role: role-id and secret-id
# sub-paths stay out of reach. ("list" appears on both: Vault matches LIST auth/approle/role/ against
# "auth/+/role/+" too, and the more specific rule wins.)
path "sys/auth" {
  capabilities = ["read"]
}
path "auth/+/role" {
  capabilities = ["list"]
}
path "auth/+/role/+" {
  capabilities = ["read", "list"]
}
