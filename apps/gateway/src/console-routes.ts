import { CONSOLE_HEADERS, type ConsoleAssets } from '@hydra/console';
import type { TemplatedApp } from './uws.js';

/**
 * The web console on the stream port (HYDRA_CONSOLE=true): `GET /` and the
 * page's other files (its script, its stream worker, its stylesheet), from
 * memory. The page is public: it holds no secret and grants nothing; the key it connects with stays in the browser (the URL
 * fragment and sessionStorage) and reaches the gateway only as the stream's
 * own authentication, on `/v1/stream`. Without HYDRA_CONSOLE these routes
 * do not exist and every such request keeps its 404.
 */
export function registerConsoleRoutes(app: TemplatedApp, assets: ConsoleAssets): void {
  for (const [path, asset] of assets) {
    app.get(path, (res) => {
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('content-type', asset.contentType);
        for (const [name, value] of CONSOLE_HEADERS) res.writeHeader(name, value);
        res.end(asset.body);
      });
    });
  }
}
