// Generated from contract/*.schema.json by contract/generate.ts: types. Do not edit; run npx tsx contract/generate.ts.

export type TimeOrNull = Time | null;
/**
 * Unix seconds, or seconds of a duration
 */
export type Time = number;
export type Count = number;

/**
 * STATE_DIR/state.json as the controller writes it (contract/README.md section 3), and the "state" member of `ess_controller.sh status --json`. The version is the value of "schema": a reader refuses any other.
 */
export interface StateFile {
  schema: 2;
  /**
   * the controller's view when it last wrote the file: latched
   */
  active: boolean;
  /**
   * the id in the latch flag of the current activation; empty when none
   */
  flag_id: string;
  updated_at: TimeOrNull;
  last_activation: null | {
    id: string;
    /**
     * cli, systemd, path, alertmanager, drill, bench, ... (a plain name)
     */
    source: string;
    actor: string;
    reason: string;
    trigger_time: Time;
    /**
     * null when not every unit stopped
     */
    all_stopped_time: Time | null;
    /**
     * null when not every unit stopped
     */
    latency_seconds: Time | null;
    result: "ok" | "degraded" | "failed" | "not-persisted" | "superseded";
    /**
     * the scope of the trip requests that started it (contract/README.md section 6): fleet, unscoped, host:NAME, group:NAME, invalid or unknown, comma-joined when a batch had several (at most 8, then ...); null for an activation that did not come from trip requests. Optional: files written before it existed lack it
     */
    scope?: null | string;
    units: UnitOutcome[];
  };
  last_deactivation: null | {
    time: Time;
    actor: string;
    reason: string;
    result: string;
    detail: string;
  };
  last_tamper: null | {
    time: Time;
    detail: string;
  };
  /**
   * activations by source
   */
  activations_total: {
    [k: string]: Count;
  };
  tamper_total: Count;
  leftover_kills_total: Count;
}
export interface UnitOutcome {
  unit: string;
  result: "stopped" | "killed" | "leftovers-killed" | "already-inactive" | "not-found" | "not-stopped" | "exempt";
  /**
   * the unit's ActiveState after the stop
   */
  state: string;
  /**
   * null when it did not stop
   */
  stop_seconds: Time | null;
}

/**
 * STATE_DIR/drill.json as proof_ess.sh writes it (contract/README.md section 5). The version is the value of "schema": a reader refuses any other.
 */
export interface DrillFile {
  schema: 1;
  /**
   * the last drill, whatever its result
   */
  last: {
    /**
     * Unix seconds
     */
    time: number;
    mode: "dry-run" | "full";
    result: "pass" | "fail";
    checks: number;
    failed: number;
    /**
     * full drills only: each trigger method, in the drill's order, with its result and its figure: the trigger to the last trading unit down by systemd's timestamps, in seconds (null when not measured: it did not stop trading, or was not run)
     *
     * @maxItems 4
     */
    triggers?: {
      method: "command" | "systemctl" | "touch" | "trip-request";
      result: "pass" | "fail" | "not-run";
      latency_seconds: number | null;
    }[];
  };
  /**
   * when a drill of each mode last passed; null while none has
   */
  last_pass: {
    "dry-run": number | null;
    full: number | null;
  };
}

/**
 * /run/quantum-ess/exempt/<unit>, one JSON line, as `ess_controller.sh exempt` writes it (contract/README.md section 5). "unit" must also be the file's name, which a schema cannot say; a record whose "until" has passed is no exemption.
 */
export interface ExemptionRecord {
  unit: string;
  since: number;
  until: number;
  actor: string;
  reason: string;
}

export type Status = "firing" | "resolved";
/**
 * Go's time.Time in JSON: nanoseconds optional; endsAt of a firing alert is Go's zero time
 */
export type Timestamp = string;

/**
 * The body Alertmanager POSTs to a webhook receiver (its webhook_config documentation), as the exporter's POST /alertmanager accepts it. Members Alertmanager may add later are ignored; the documented ones must have exactly their type. truncatedAlerts alone may be missing (Alertmanager before 0.22): it then counts as 0.
 */
export interface WebhookPayload {
  version: "4";
  groupKey: string;
  truncatedAlerts?: number;
  status: Status;
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: Alert[];
}
export interface Labels {
  [k: string]: string;
}
export interface Alert {
  status: Status;
  labels: Labels;
  annotations: Labels;
  startsAt: Timestamp;
  endsAt: Timestamp;
  generatorURL: string;
  fingerprint: string;
}

export type AbsolutePath = string;
export type AbsolutePathOrNull = null | string;
export type Boolean = boolean;

/**
 * /etc/quantum/ess-exporter.json (docs/exporter.md). Every key is optional: a missing one takes the default docs/exporter.md lists. Unknown keys are refused; the keys of an earlier release listed as deprecated are accepted and ignored for one release, with a warning. What a schema cannot say (the listen address resolved, the host name rule, trip_rules' matchers compiled, which keys go together) the exporter checks after this.
 */
export interface ExporterConfigFile {
  listen?: string;
  ess_config_file?: AbsolutePath;
  system_bus_address?: string;
  dbus_timeout_seconds?: number;
  webhook_token_file?: AbsolutePathOrNull;
  webhook_body_limit_bytes?: number;
  webhook_dry_run?: Boolean;
  /**
   * an alert trips this host when every matcher of one rule matches its labels (Alertmanager's matcher syntax)
   *
   * @minItems 1
   */
  trip_rules?: string[][];
  /**
   * this receiver's name in a fleet (ess_host); when the key is missing, the kernel's host name
   */
  host?: string;
  /**
   * @maxItems 64
   */
  groups?: string[];
  tls_cert_file?: AbsolutePathOrNull;
  tls_key_file?: AbsolutePathOrNull;
  allow_plain_http_token?: Boolean;
  /**
   * @deprecated
   * ignored: unit states come from D-Bus only
   */
  systemctl_path?: {
    [k: string]: unknown;
  };
  /**
   * @deprecated
   * ignored: unit states come from D-Bus only
   */
  busctl_path?: {
    [k: string]: unknown;
  };
  /**
   * @deprecated
   * ignored: unit states are pushed by systemd, never cached
   */
  unit_state_cache_seconds?: {
    [k: string]: unknown;
  };
  /**
   * @deprecated
   * now dbus_timeout_seconds, which takes its value unless set itself
   */
  systemctl_timeout_seconds?: {
    [k: string]: unknown;
  };
}
