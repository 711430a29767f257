import type { AlertmanagerPayload } from '../../platform/incidents/signals.js';

/** A firing Alertmanager webhook body (version 4) with one alert, as Alertmanager sends it. */
export function firingAlert(
  labels: Readonly<Record<string, string>> & { alertname: string },
  summary: string,
  fingerprint: string,
): AlertmanagerPayload {
  return {
    version: '4',
    groupKey: `{}:{alertname="${labels.alertname}"}`,
    status: 'firing',
    receiver: 'daqops',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary },
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint,
      },
    ],
  };
}
