/** How the run page words times, durations and sizes (values: `formatValue` of runs.tsx). */

/** A time (ms since the epoch) as `YYYY-MM-DD HH:MM:SS`, local time; '' for none. */
export function formatMoment(value: unknown): string {
  if (typeof value !== 'number') {
    return value ? String(value) : '';
  }
  const date = new Date(value);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Seconds as `1h 02m`, `3m 05s`, `4.2 s` or `120 ms`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  }
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
}

/**
 * Bytes as `812 B`, `3.4 KB`, `12.0 MB`: decimal units (1 KB = 1000 bytes), as the CLI prints
 * sizes (`mlws dataset list`), so that both say the same of a dataset.
 */
export function formatSize(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number') {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A logged number in 4 significant digits without trailing zeros (`0.3`, `0.3333`, `1.235e+7`); integers whole. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(Number(value.toPrecision(4)));
}
