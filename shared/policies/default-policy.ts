/**
 * The built-in `default` policy as Vault writes it at first start (its current rules, the same
 * paths and capabilities as `vault read sys/policy/default` prints). It is stored only when absent
 * and never rewritten, so operators may edit it. Its identity rules are templated and drop out of
 * the ACL of a token without an entity; the paths this service does not serve simply never match.
 */
export const DEFAULT_POLICY_TEXT = `# The default policy: what every token may do for itself, unless it was
# created with no_default_policy.

# A token may read its own properties.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# A token may extend its own lifetime.
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# A token may revoke itself.
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# A token may ask what it is allowed to do on given paths.
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# A token may read the identity entity it belongs to, by id or by name.
path "identity/entity/id/{{identity.entity.id}}" {
    capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
    capabilities = ["read"]
}

# A token may read the union of its policies (user interfaces use this).
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# A token may renew a lease it holds (the old path and the current one).
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# A token may look up a lease whose id it already knows.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# A token has its own cubbyhole.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# A token may wrap data, and look up and unwrap response-wrapping tokens.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# A token may hash data with the hashing tool.
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# A token may check a control group request whose accessor it holds.
path "sys/control-group/request" {
    capabilities = ["update"]
}

# A token may use the authorization endpoint of an OIDC provider.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
`;
