/** The files of the console page, for the process that serves it (the gateway, with HYDRA_CONSOLE=true). */
export {
  CONSOLE_HEADERS,
  type ConsoleAsset,
  type ConsoleAssets,
  ConsoleNotBuiltError,
  loadConsoleAssets,
} from './console-assets.js';
