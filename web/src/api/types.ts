// Names for the API's shapes, all taken from the generated OpenAPI types
// (schema.d.ts, `npm run gen:api`), so a server change shows up as a type
// error here rather than a blank chart.

import type { components, paths } from "./schema";

type Schemas = components["schemas"];

export type Server = Schemas["ServerView"];
export type HostStatus = Schemas["HostStatus"];
export type LatestView = Schemas["LatestView"];
export type LatestValue = Schemas["LatestValue"];
export type ProcessInfo = Schemas["ProcessInfo"];
export type QueryResult = Schemas["QueryResult"];
export type MetricSeries = QueryResult["series"][number];
export type LoginRequest = Schemas["LoginRequest"];
export type LoginResponse = Schemas["LoginResponse"];
export type WhoAmI = Schemas["WhoAmI"];
export type Role = Schemas["Role"];
export type ErrorBody = Schemas["ErrorBody"];
export type LiveEvent = Schemas["LiveEvent"];
export type UserView = Schemas["UserView"];
export type CreatedUser = Schemas["CreatedUser"];
export type Tenant = Schemas["Tenant"];
export type AgentKeyView = Schemas["AgentKeyView"];
export type KeyStatus = Schemas["KeyStatus"];
export type CreatedKey = Schemas["CreatedKey"];
export type EnrollmentTokenView = Schemas["EnrollmentTokenView"];
export type CreatedToken = Schemas["CreatedToken"];
export type AuditEntry = Schemas["AuditEntry"];
export type AuditPage = Schemas["AuditPage"];
export type TotpSetup = Schemas["TotpSetup"];
export type RecoveryCodes = Schemas["RecoveryCodes"];
export type ActionSpec = Schemas["ActionSpec"];
export type ParamSpec = Schemas["ParamSpec"];
export type Command = Schemas["Command"];
export type CommandStatus = Schemas["CommandStatus"];
export type CheckView = Schemas["CheckView"];
export type CheckInput = Schemas["CheckInput"];
export type CheckSeries = Schemas["CheckSeries"];
export type TestOutcome = Schemas["TestOutcome"];
export type StatusPage = Schemas["StatusPage"];
export type StatusPageInput = Schemas["StatusPageInput"];
export type Alert = Schemas["Alert"];
export type AlertDetail = Schemas["AlertDetail"];
export type NotificationRecord = Schemas["NotificationRecord"];
export type RuleDefinition = Schemas["RuleDefinition"];
export type RuleView = Schemas["RuleView"];
export type PreviewInput = Schemas["PreviewInput"];
export type PreviewRow = Schemas["PreviewRow"];
export type ChannelInput = Schemas["ChannelInput"];
export type ChannelView = Schemas["ChannelView"];
export type ChannelTestResult = Schemas["TestResult"];
export type Routing = Schemas["Routing"];
export type Silence = Schemas["Silence"];
export type SilenceView = Schemas["SilenceView"];
export type Maintenance = Schemas["Maintenance"];
export type MaintenanceView = Schemas["MaintenanceView"];
export type WebhookInput = Schemas["WebhookInput"];
export type WebhookView = Schemas["WebhookView"];

/** The JSON body of a path's 200 answer. */
export type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;

/** The JSON body of a path's 201 answer (creations). */
export type Created<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 201: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;

/** A path's query parameters. */
export type QueryOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  parameters: { query?: infer Q };
}
  ? NonNullable<Q>
  : never;

/** A path's JSON request body. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;
