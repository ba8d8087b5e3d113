// The v1 change's type under a short name. The type itself is generated
// (src/models.ts, from the JSON Schema by json-schema-to-typescript): never
// edit that file; dev/clients.sh fails when it differs from the schema's.
export type { ContactCenterPhoneNumberChangeVersion1 as Change } from "./models.ts";
export type { ContactCenterPhoneNumberChangeVersion1 } from "./models.ts";

/** The message attributes the relay sets beside each body (all of data type String). */
export type AttributeName =
  | "eventType"
  | "phoneNumberId"
  | "origin"
  | "stale"
  | "usageType"
  | "accountId"
  | "contactCenterProviderId";
