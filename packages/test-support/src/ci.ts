/** True when CI is set to anything but '', '0' or 'false': a check whose tool is missing then fails instead of skipping. */
export const inCI = ((): boolean => {
  const ci = process.env['CI']?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
})();
