/**
 * The login request: Vault's field schema (all strings; real clients send absent values as "")
 * and their help texts, as `path_login.go` declares them.
 */
import { vString } from '../vault/fields';

export const LOGIN_FIELDS = {
  role: vString,
  jwt: vString,
  subscription_id: vString,
  resource_group_name: vString,
  vm_name: vString,
  vmss_name: vString,
  resource_id: vString,
};

export const LOGIN_FIELD_HELP: Readonly<Record<keyof typeof LOGIN_FIELDS, string>> = {
  role: 'The token role (case-insensitive).',
  jwt: 'A signed JWT: an Entra access token of a managed identity.',
  subscription_id: 'The subscription ID of the calling resource.',
  resource_group_name: 'The resource group of the calling resource.',
  vm_name: 'The name of the calling virtual machine. Ignored when vmss_name is given.',
  vmss_name: 'The name of the calling virtual machine scale set. Wins over vm_name.',
  resource_id: 'The full ARM id of any calling resource with a managed identity. Ignored when vm_name or vmss_name is given.',
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

export function loginRequestFrom(values: { [K in keyof typeof LOGIN_FIELDS]?: string }): LoginRequest {
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
