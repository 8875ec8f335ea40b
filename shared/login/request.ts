/**
 * The login request: Vault's field schema (all strings; real clients send absent values as ""),
 * with each field's help as `path_login.go` declares it.
 */
import { sensitive, vString } from '../vault/fields';

export const loginFields = {
  role: vString, // the role to log in with (case-insensitive); required
  jwt: sensitive(vString), // an Entra access token of a managed identity; required
  subscription_id: vString, // subscription of the calling resource
  resource_group_name: vString, // resource group of the calling resource
  vm_name: vString, // name of the calling VM; ignored when vmss_name is given
  vmss_name: vString, // name of the calling scale set; wins over vm_name
  resource_id: vString, // ARM id of any calling resource; ignored when vm_name or vmss_name is given
};

/** The login fields with absent ones as "", as the handler works with them. */
export interface LoginRequest {
  readonly role: string;
  readonly jwt: string;
  readonly subscription_id: string;
  readonly resource_group_name: string;
  readonly vm_name: string;
  readonly vmss_name: string;
  readonly resource_id: string;
}

export function loginRequestFrom(values: { [K in keyof typeof loginFields]?: string }): LoginRequest {
  return {
    role: values.role ?? '',
    jwt: values.jwt ?? '',
    subscription_id: values.subscription_id ?? '',
    resource_group_name: values.resource_group_name ?? '',
    vm_name: values.vm_name ?? '',
    vmss_name: values.vmss_name ?? '',
    resource_id: values.resource_id ?? '',
  };
}
