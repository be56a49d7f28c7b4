/** How runs' values read (kept here for the views that import them from this module). */

export { formatTime, formatValue } from './runColumns';
