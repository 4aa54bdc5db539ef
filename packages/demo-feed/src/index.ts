/**
 * The demo feed: a deterministic simulated world (aircraft, vessels, signals,
 * alerts, cyber) and the timer that publishes it through an EventPublisher.
 */
export { type Cvss31, cvss31 } from './cvss.js';
export {
  createDemoFeed,
  type DemoFeed,
  type DemoFeedOptions,
  type DemoFeedStartOptions,
  type DemoFeedStats,
} from './demo-feed.js';
export {
  createDemoWorld,
  DEFAULT_DEMO_AIRCRAFT,
  DEFAULT_DEMO_RATES,
  DEFAULT_DEMO_VESSELS,
  DEMO_EPOCH_MS,
  type DemoRates,
  DemoWorld,
  type DemoWorldOptions,
  resolveRates,
} from './demo-world.js';
