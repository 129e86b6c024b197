/**
 * The Grafana dashboard of the Quantum Trader ESS, as code. `generate.ts` writes it to
 * dashboards/generated/ess.json; test/unit/dashboards checks the committed file is current.
 *
 * The classic (v1) dashboard builders are used although the SDK marks them deprecated in favour of
 * dashboardv2: file provisioning and every Grafana version the desk runs read the v1 JSON model.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  type Dashboard,
  type DataSourceRef,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  SpecialValueMatch,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as BarGaugePanelBuilder } from '@grafana/grafana-foundation-sdk/bargauge';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanelBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { VERDICT_EXIT_CODES, type VerdictWord } from '../../src/verdict/latch-verdict.js';
import { INSTANCE_VARIABLE_QUERY, QUERIES, type QueryName, UNIT_STATE_CODES } from './queries.js';

export const DASHBOARD_UID = 'quantum-ess';
export const DATASOURCE_VARIABLE = 'datasource';
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };

const GREEN = 'green';
const RED = 'red';
const ORANGE = 'orange';
const GREY = 'text';
const DARK_RED = 'dark-red';

/** How the verdict stat shows each word (its value is the word's exit code, see queries.ts). */
const VERDICT_DISPLAY: Readonly<Record<VerdictWord, readonly [string, string]>> = {
  armed: ['ARMED', GREEN],
  active: ['ACTIVE', RED],
  violation: ['VIOLATION', DARK_RED],
  tampered: ['TAMPERED', DARK_RED],
  'not-persisted': ['NOT PERSISTED', RED],
  'resume-interrupted': ['RESUME INTERRUPTED', ORANGE],
  'not-armed': ['NOT ARMED', RED],
  unknown: ['UNKNOWN', ORANGE],
};

/** The verdict words as value mappings, keyed by exit code (the verdict queries' value). */
const VERDICT_WORDS = Object.entries(VERDICT_EXIT_CODES).map(([word, code]) => [code, ...VERDICT_DISPLAY[word as VerdictWord]] as const);

/** Seconds; the same numbers as alerting/ess.rules.yml. */
const LATENCY_TARGET_SECONDS = 0.25;
const LATENCY_LIMIT_SECONDS = 2;
const DRILL_OVERDUE_SECONDS = 8 * 86400;

function target(name: QueryName, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(QUERIES[name]).legendFormat(legend).refId(refId);
}

/** The current value of each series as one table row (labels as columns), not a time series. */
function tableTarget(name: QueryName, refId = 'A'): DataqueryBuilder {
  return target(name, '', refId).instant().format(PromQueryFormat.Table);
}

/**
 * Orders and titles the named columns and hides Prometheus' query time and job (excludeByName rather
 * than includeByName, which older Grafana versions do not know).
 */
function columns(titles: Readonly<Record<string, string>>, hidden: readonly string[] = []): { id: string; options: unknown } {
  return {
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(['Time', 'job', ...hidden].map((name) => [name, true])),
      indexByName: Object.fromEntries(Object.keys(titles).map((name, index) => [name, index])),
      renameByName: titles,
    },
  };
}

function table(title: string, description: string): TablePanelBuilder {
  return new TablePanelBuilder().title(title).description(description).datasource(DATASOURCE);
}

function valueText(entries: ReadonlyArray<readonly [number, string, string]>): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(
        entries.map(([value, text, color], index) => [String(value), { text, color, index }]),
      ),
    },
  ];
}

/** Thresholds whose base colour is `base` and which switch to `color` from `value` on. */
function thresholds(base: string, ...steps: Array<readonly [number, string]>): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

function stat(title: string, description: string): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
}

/** Counts per interval, as bars; `stacked` adds up the series (e.g. sources, status codes). */
function countBars(title: string, description: string, stacked = false): TimeSeriesPanelBuilder {
  const panel = timeseries(title, description).drawStyle(common.GraphDrawStyle.Bars).fillOpacity(80).decimals(0).min(0).height(8);
  return stacked ? panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)) : panel;
}

/** A 0/1 health stat: 0 shows `bad` in red, 1 shows `good` in green. */
function healthStat(title: string, description: string, query: QueryName, bad: string, good: string): StatPanelBuilder {
  return stat(title, description)
    .withTarget(target(query, '{{instance}}'))
    .mappings(
      valueText([
        [0, bad, RED],
        [1, good, GREEN],
      ]),
    )
    .thresholds(thresholds(RED, [1, GREEN]))
    .height(6)
    .span(4);
}

function timeseries(title: string, description: string): TimeSeriesPanelBuilder {
  return new TimeSeriesPanelBuilder().title(title).description(description).datasource(DATASOURCE);
}

function statusRow(): RowBuilder {
  return new RowBuilder('Status')
    .withPanel(
      stat(
        'ESS',
        'ACTIVE: latched (the flag or the persisted latch exists), every trading unit is stopped and cannot start. Runbook: README.md#runbook.',
      )
        .withTarget(target('essActive', '{{instance}}'))
        // Unknown (latch unreadable) is not INACTIVE: showing green there would be a lie.
        .mappings([
          ...valueText([
            [0, 'INACTIVE', GREEN],
            [1, 'ACTIVE', RED],
          ]),
          { type: MappingType.SpecialValue, options: { match: SpecialValueMatch.Null, result: { text: 'UNKNOWN', color: ORANGE, index: 2 } } },
        ])
        .noValue('UNKNOWN')
        .thresholds(thresholds(GREEN, [1, RED]))
        .height(6)
        .span(5),
    )
    .withPanel(
      stat(
        'Verdict',
        'The verdict of `ess_controller.sh status`: ARMED, ACTIVE, VIOLATION, TAMPERED, NOT PERSISTED, RESUME INTERRUPTED, NOT ARMED or UNKNOWN. Anything but ARMED or ACTIVE needs a human.',
      )
        .withTarget(target('verdict', '{{instance}}'))
        .mappings(valueText(VERDICT_WORDS))
        .noValue('UNKNOWN')
        .thresholds(thresholds(ORANGE))
        .height(6)
        .span(5),
    )
    .withPanel(
      healthStat(
        'Kill switch',
        'ARMED: quantum-ess.path and quantum-ess-trip.path are active, no trigger is stuck and systemd guards every trading unit, so a touch of the flag or an alert stops trading and the latch holds.',
        'switchArmed',
        'NOT ARMED',
        'ARMED',
      ).noValue('UNKNOWN'),
    )
    .withPanel(
      stat('Latch violations', 'Trading units running, holding processes or not guarded by systemd while the ESS is latched. Must be 0.')
        .withTarget(target('latchViolation', '{{instance}}'))
        .thresholds(thresholds(GREEN, [1, RED]))
        .decimals(0)
        .noValue('UNKNOWN')
        .height(6)
        .span(3),
    )
    .withPanel(
      healthStat(
        'Exporter',
        'Whether Prometheus can scrape the ESS exporter (and so reach its webhook receiver).',
        'exporterUp',
        'DOWN',
        'UP',
      )
        .noValue('NO TARGET')
        .span(3),
    )
    .withPanel(
      stat('Last activation / deactivation', 'When the ESS was last activated (A) and deactivated (D).')
        .withTarget(target('lastActivationTime', 'A {{instance}}'))
        .withTarget(target('lastDeactivationTime', 'D {{instance}}', 'B'))
        .unit('dateTimeFromNow')
        .colorMode(common.BigValueColorMode.None)
        .noValue('never')
        .height(6)
        .span(4),
    );
}

/** A table column that shows `entries` as coloured words. */
function wordColumn(entries: ReadonlyArray<readonly [number, string, string]>): Array<{ id: string; value: unknown }> {
  return [
    { id: 'mappings', value: valueText(entries) },
    { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorBackground } },
  ];
}

function fleetRow(): RowBuilder {
  return new RowBuilder('Fleet')
    .withPanel(
      stat(
        'Hosts latched',
        'How many of the selected hosts are latched with every trading unit stopped (verdict violation or unknown is not counted), out of how many the ESS job scrapes, and how many of those cannot be scraped. After a fleet trip (`ess_fleet.sh trip`) latched must equal hosts; `ess_fleet.sh status --expect-latched` says which host did not.',
      )
        .withTarget(target('fleetLatched', 'latched'))
        .withTarget(target('fleetHosts', 'hosts', 'B'))
        .withTarget(target('fleetUnreachable', 'unreachable', 'C'))
        .colorMode(common.BigValueColorMode.Value)
        .decimals(0)
        .thresholds(thresholds(GREY))
        .overrideByName('latched', [{ id: 'thresholds', value: thresholds(GREEN, [1, RED]).build() }])
        .overrideByName('unreachable', [{ id: 'thresholds', value: thresholds(GREEN, [1, RED]).build() }])
        .height(8)
        .span(5),
    )
    .withPanel(
      table(
        'Hosts',
        'Every selected host: its identity (the exporter config\'s host and groups, what ess_host and ess_group name), whether Prometheus reaches it, its latch, verdict and switch, and its last activation. A host DOWN during a trip may still trade.',
      )
        .withTarget(tableTarget('fleetIdentity'))
        .withTarget(tableTarget('fleetUp', 'B'))
        .withTarget(tableTarget('fleetActive', 'C'))
        .withTarget(tableTarget('verdict', 'D'))
        .withTarget(tableTarget('fleetArmed', 'E'))
        .withTarget(tableTarget('fleetLastActivation', 'F'))
        .withTarget(tableTarget('fleetLatency', 'G'))
        // One row per instance: every query keeps the instance label only (and host, groups in A).
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(
          columns(
            {
              host: 'Host',
              instance: 'Instance',
              groups: 'Groups',
              'Value #B': 'Scrape',
              'Value #C': 'Latch',
              'Value #D': 'Verdict',
              'Value #E': 'Switch',
              'Value #F': 'Last activation',
              'Value #G': 'Latency',
            },
            ['Value #A'],
          ),
        )
        .overrideByName('Scrape', wordColumn([[0, 'DOWN', RED], [1, 'UP', GREEN]]))
        .overrideByName('Latch', wordColumn([[0, 'INACTIVE', GREEN], [1, 'ACTIVE', RED]]))
        .overrideByName('Verdict', wordColumn(VERDICT_WORDS))
        .overrideByName('Switch', wordColumn([[0, 'NOT ARMED', RED], [1, 'ARMED', GREEN]]))
        .overrideByName('Last activation', [{ id: 'unit', value: 'dateTimeAsIso' }])
        .overrideByName('Latency', [{ id: 'unit', value: 's' }])
        .noValue('No ESS target')
        .height(8)
        .span(19),
    )
    .withPanel(
      new BarGaugePanelBuilder()
        .title('Last activation latency per host')
        .description(`Trigger to all trading units stopped in each host's last activation. Target ${LATENCY_TARGET_SECONDS} s, hard limit ${LATENCY_LIMIT_SECONDS} s.`)
        .datasource(DATASOURCE)
        .withTarget(target('hostLatency', '{{host}}').instant())
        .unit('s')
        .min(0)
        .thresholds(thresholds(GREEN, [LATENCY_TARGET_SECONDS, ORANGE], [LATENCY_LIMIT_SECONDS, RED]))
        .orientation(common.VizOrientation.Horizontal)
        .displayMode(common.BarGaugeDisplayMode.Basic)
        .noValue('No activation')
        .height(8)
        .span(8),
    )
    .withPanel(
      stat('Last trip per host', 'When each host was last activated (tripped), by its host name.')
        .withTarget(target('hostLastTrip', '{{host}}'))
        .unit('dateTimeFromNow')
        .colorMode(common.BigValueColorMode.None)
        .noValue('never')
        .height(8)
        .span(8),
    )
    .withPanel(
      countBars(
        'Trip decisions by scope',
        'What the selected hosts\' receivers decided on matching alerts, by scope (fleet, group, host, invalid): trip, other_target (scoped to other hosts, not tripped) or invalid (an ess_scope other than fleet: tripped nowhere, fix the alert).',
        true,
      )
        .withTarget(target('scopeDecisions', '{{scope}} {{decision}}'))
        .span(8),
    );
}

function stateTimeline(title: string, description: string): StateTimelinePanelBuilder {
  return new StateTimelinePanelBuilder().title(title).description(description).datasource(DATASOURCE);
}

function unitsRow(): RowBuilder {
  const stateColors: Readonly<Record<string, string>> = {
    active: GREEN,
    activating: 'yellow',
    deactivating: ORANGE,
    inactive: 'blue',
    failed: RED,
    'not-found': 'purple',
    masked: 'purple',
  };
  return new RowBuilder('Units')
    .withPanel(
      stateTimeline(
        'Unit states',
        'State of every configured unit (role trading, monitor or switch). While the ESS is latched, trading units must be inactive or failed.',
      )
        .withTarget(target('unitState', '{{instance}} {{role}} {{unit}}'))
        .mappings(
          valueText([
            [0, 'unknown', GREY],
            ...UNIT_STATE_CODES.map(([state, code]) => [code, state, stateColors[state] ?? GREY] as const),
          ]),
        )
        .showValue(common.VisibilityMode.Auto)
        .mergeValues(true)
        .rowHeight(0.8)
        .height(10)
        .span(24),
    )
    .withPanel(
      stateTimeline(
        'Latch guard',
        'Whether systemd refuses to start each trading unit while latched (its latch drop-in asserts on the flag and the persisted latch). NOT GUARDED disarms the switch; no value: the assertions could not be read.',
      )
        .withTarget(target('unitGuarded', '{{instance}} {{unit}}'))
        .mappings(
          valueText([
            [0, 'NOT GUARDED', RED],
            [1, 'guarded', GREEN],
          ]),
        )
        .showValue(common.VisibilityMode.Auto)
        .mergeValues(true)
        .height(8)
        .span(12),
    )
    .withPanel(
      stateTimeline(
        'Processes in trading unit cgroups',
        'Whether processes live in each trading unit\'s cgroup, whatever its state says (leftovers of KillMode=process, detached children). Any while latched is a violation.',
      )
        .withTarget(target('unitCgroupPopulated', '{{instance}} {{unit}}'))
        .mappings(
          valueText([
            [0, 'empty', 'blue'],
            [1, 'processes', ORANGE],
          ]),
        )
        .showValue(common.VisibilityMode.Auto)
        .mergeValues(true)
        .height(8)
        .span(12),
    );
}

function maintenanceRow(): RowBuilder {
  return new RowBuilder('Maintenance: exemptions and drills')
    .withPanel(
      table(
        'Maintenance exemptions',
        'Trading units a maintenance exemption (`ess_controller.sh exempt`) lets run while the ESS is active, and when it ends; such a unit is left out of the latch violations. Empty: none.',
      )
        .withTarget(tableTarget('exemptUntil'))
        .withTransformation(columns({ instance: 'Host', unit: 'Unit', Value: 'Until' }))
        .overrideByName('Until', [{ id: 'unit', value: 'dateTimeAsIso' }])
        .noValue('No exemption')
        .height(6)
        .span(12),
    )
    .withPanel(
      table('Last drill', 'The last ESS drill (proof_ess.sh) on each host: when, its mode (dry-run or full) and whether every check passed.')
        .withTarget(tableTarget('lastDrillTime'))
        .withTarget(tableTarget('lastDrillSuccess', 'B'))
        // One row per host: the time (A) and the result (B) share instance and mode.
        .withTransformation({ id: 'merge', options: {} })
        .withTransformation(columns({ instance: 'Host', mode: 'Mode', 'Value #A': 'When', 'Value #B': 'Result' }))
        .overrideByName('When', [{ id: 'unit', value: 'dateTimeFromNow' }])
        .overrideByName('Result', [
          {
            id: 'mappings',
            value: valueText([
              [0, 'FAIL', RED],
              [1, 'PASS', GREEN],
            ]),
          },
          { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorBackground } },
        ])
        .noValue('Never drilled')
        .height(6)
        .span(8),
    )
    .withPanel(
      stat(
        'Since the last passed drill',
        `Time since a drill (dry-run or full) last passed; ESSDrillOverdue warns after ${DRILL_OVERDUE_SECONDS / 86400} days.`,
      )
        .withTarget(target('sinceLastDrillPass', '{{instance}}'))
        .unit('dtdurations')
        .thresholds(thresholds(GREEN, [DRILL_OVERDUE_SECONDS, ORANGE]))
        // Never passed is worse than overdue, not green.
        .mappings([{ type: MappingType.SpecialValue, options: { match: SpecialValueMatch.Null, result: { text: 'NEVER', color: ORANGE, index: 0 } } }])
        .noValue('NEVER')
        .height(6)
        .span(4),
    );
}

function watchdogRow(): RowBuilder {
  return new RowBuilder("Dead man's switch (monitoring heartbeat)")
    .withPanel(
      stat('Heartbeat age', "Seconds since the newest fresh ESSWatchdog heartbeat reached each host's receiver; the limit is in the next panel. Empty: none since the exporter started.")
        .withTarget(target('heartbeatAge', '{{instance}}'))
        .unit('s')
        .noValue('NONE')
        .height(5)
        .span(6),
    )
    .withPanel(
      stat('Silence limit', 'WATCHDOG_MAX_SILENCE_SEC: after this long without a heartbeat the host acts as WATCHDOG_ACTION says.')
        .withTarget(target('watchdogLimit', '{{instance}}'))
        .unit('s')
        .height(5)
        .span(4),
    )
    .withPanel(
      table('Watchdog action', 'WATCHDOG_ACTION of each host: off (nothing), alert (pages) or trip (stops trading) when the heartbeat is silent.')
        .withTarget(tableTarget('watchdogAction'))
        .withTransformation(columns({ instance: 'Host', action: 'Action' }, ['Value']))
        .height(5)
        .span(5),
    )
    .withPanel(
      stat('Silent now', "1 when the root side's last check found no heartbeat within the limit (ESSWatchdogSilent).")
        .withTarget(target('watchdogSilent', '{{instance}}'))
        .mappings(valueText([
          [0, 'OK', GREEN],
          [1, 'SILENT', RED],
        ]))
        .height(5)
        .span(4),
    )
    .withPanel(
      table('Watchdog paused until', '`ess_controller.sh watchdog pause`: until when a silent monitoring neither alerts nor trips. Empty: no pause.')
        .withTarget(tableTarget('watchdogPausedUntil'))
        .withTransformation(columns({ instance: 'Host', Value: 'Until' }))
        .overrideByName('Until', [{ id: 'unit', value: 'dateTimeAsIso' }])
        .noValue('No pause')
        .height(5)
        .span(5),
    );
}

function actionsRow(): RowBuilder {
  return new RowBuilder('On-trip actions (venue cancels after a stop)')
    .withPanel(
      table(
        'Last run of each action',
        'Each on-trip action (/etc/quantum/ess-actions.d) on each host and its last result: VERIFIED (done and verified), UNVERIFIED (done, not verified), CHECKED (check mode), FAILED, TIMEOUT, REFUSED (not run: not root\'s or writable by others). ESSTripActionFailed pages on the last three. Empty: no action ever ran.',
      )
        .withTarget(tableTarget('actionLastResult'))
        .withTransformation(columns({ instance: 'Host', action: 'Action', result: 'Result' }, ['Value']))
        .overrideByName('Result', [
          {
            id: 'mappings',
            value: [
              {
                type: MappingType.ValueToText,
                options: {
                  verified: { text: 'VERIFIED', color: GREEN, index: 0 },
                  checked: { text: 'CHECKED', color: GREEN, index: 1 },
                  unverified: { text: 'UNVERIFIED', color: ORANGE, index: 2 },
                  failed: { text: 'FAILED', color: RED, index: 3 },
                  timeout: { text: 'TIMEOUT', color: RED, index: 4 },
                  refused: { text: 'REFUSED', color: RED, index: 5 },
                },
              },
            ],
          },
          { id: 'custom.cellOptions', value: { type: common.TableCellDisplayMode.ColorBackground } },
        ])
        .noValue('No action ran')
        .height(6)
        .span(12),
    )
    .withPanel(
      timeseries('Action duration', 'How long each on-trip action\'s last run took, its start to its end (or its kill at ACTION_TIMEOUT_SEC).')
        .withTarget(target('actionDuration', '{{instance}} {{action}}'))
        .unit('s')
        .min(0)
        .lineInterpolation(common.LineInterpolation.StepAfter)
        .height(6)
        .span(12),
    );
}

function stopPerformanceRow(): RowBuilder {
  return new RowBuilder('Stop performance')
    .withPanel(
      timeseries(
        'Last activation latency',
        `Trigger to all trading units stopped. Target ${LATENCY_TARGET_SECONDS} s (orange line), hard limit ${LATENCY_LIMIT_SECONDS} s (red line).`,
      )
        .withTarget(target('activationLatency', '{{instance}}'))
        .unit('s')
        .min(0)
        .axisSoftMax(LATENCY_LIMIT_SECONDS * 1.25)
        .thresholds(thresholds(GREEN, [LATENCY_TARGET_SECONDS, ORANGE], [LATENCY_LIMIT_SECONDS, RED]))
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
        .lineInterpolation(common.LineInterpolation.StepAfter)
        .height(8)
        .span(8),
    )
    .withPanel(
      countBars('Activations by source', 'Activations recorded by the controller, per source (cli, systemd, path, alertmanager, ...).', true)
        .withTarget(target('activationsBySource', '{{source}}'))
        .span(8),
    )
    .withPanel(
      countBars(
        'Tamper events and leftover kills',
        'Latch tampering the controller found (flag removed outside it: must be 0), and activations that had to SIGKILL processes left in stopped trading units.',
      )
        .withTarget(target('tamperEvents', 'tamper events'))
        .withTarget(target('leftoverKills', 'leftover kills', 'B'))
        .overrideByName('tamper events', [{ id: 'color', value: { mode: 'fixed', fixedColor: RED } }])
        .span(8),
    );
}

function webhookRow(): RowBuilder {
  return new RowBuilder('Automatic trips (Alertmanager webhook)')
    .withPanel(
      countBars('Webhook trips', 'Alerts that matched a trip rule, trip requests written, and trip requests that could not be written (must be 0).')
        .withTarget(target('webhookAlertsMatched', 'alerts matched'))
        .withTarget(target('webhookTripsWritten', 'trips written', 'B'))
        .withTarget(target('webhookTripFailures', 'trip failures', 'C'))
        .overrideByName('trip failures', [{ id: 'color', value: { mode: 'fixed', fixedColor: RED } }])
        .span(8),
    )
    .withPanel(
      countBars('Webhook requests by status', 'Requests to /alertmanager per HTTP status; 401 usually means Alertmanager has the wrong token.', true)
        .withTarget(target('webhookRequestsByCode', '{{code}}'))
        .span(8),
    )
    .withPanel(
      timeseries(
        'Webhook request duration (p99)',
        'Time the receiver takes to answer Alertmanager, including writing the trip request; and how long deliveries waited for their turn to be matched (a flood of deliveries, ESSWebhookFlooded: small ones, a trip, still go first).',
      )
        .withTarget(target('webhookDurationP99', 'p99'))
        .withTarget(target('webhookQueueWaitP99', 'queue wait p99'))
        .unit('s')
        .min(0)
        .height(8)
        .span(8),
    );
}

function exporterRow(): RowBuilder {
  return new RowBuilder('Exporter read health')
    .withPanel(
      stateTimeline(
        'Exporter reads',
        'Whether the last read of each source (flag, state file, systemd over D-Bus, latch assertions, cgroups, latch markers and exemptions, drill record) worked. FAILING means the exporter serves last known values or an unknown verdict.',
      )
        .withTarget(target('exporterReadOk', '{{instance}} {{source}}'))
        .mappings(
          valueText([
            [0, 'FAILING', RED],
            [1, 'OK', GREEN],
          ]),
        )
        .showValue(common.VisibilityMode.Never)
        .mergeValues(true)
        .height(8)
        .span(12),
    )
    .withPanel(
      timeseries('Exporter read errors', 'Failed reads per source.')
        .withTarget(target('exporterReadErrors', '{{instance}} {{source}}'))
        .drawStyle(common.GraphDrawStyle.Bars)
        .fillOpacity(80)
        .decimals(0)
        .min(0)
        .height(8)
        .span(12),
    );
}

export function buildEssDashboard(): Dashboard {
  const dashboard = new DashboardBuilder('Quantum ESS — Emergency Stop System')
    .uid(DASHBOARD_UID)
    .description('State, stop latency, automatic trips and exporter health of the ESS on each trading host.')
    .tags(['quantum', 'ess'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('10s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(
      new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus'),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Host')
        .datasource(DATASOURCE)
        .query(INSTANCE_VARIABLE_QUERY)
        .definition(INSTANCE_VARIABLE_QUERY)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        // A regex instead of Grafana's (a|b|...) list keeps queries short with many hosts.
        .allValue('.+')
        .current({ selected: true, text: ['All'], value: ['$__all'] }),
    )
    .withRow(statusRow())
    .withRow(fleetRow())
    .withRow(unitsRow())
    .withRow(maintenanceRow())
    .withRow(watchdogRow())
    .withRow(actionsRow())
    .withRow(stopPerformanceRow())
    .withRow(webhookRow())
    .withRow(exporterRow())
    .build();
  return expandRows(dashboard);
}

/**
 * The builder nests every panel inside its row, which is Grafana's model of a *collapsed* row: the
 * ESS ACTIVE stat would be hidden behind a click. An expanded row has no panels of its own and is
 * followed by them at the top level (the builder already set their absolute positions). Panels also
 * get stable ids here, which the builder leaves out and Grafana would otherwise pick at load time.
 */
function expandRows(dashboard: Dashboard): Dashboard {
  const panels: NonNullable<Dashboard['panels']> = [];
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === 'row' && 'panels' in panel) {
      const nested = panel.panels;
      panels.push({ ...panel, collapsed: false, panels: [] }, ...nested);
    } else {
      panels.push(panel);
    }
  }
  panels.forEach((panel, index) => {
    panel.id = index + 1;
  });
  return { ...dashboard, panels };
}
