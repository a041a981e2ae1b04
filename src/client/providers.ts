/**
 * Builds the vendor provider named in `feature_flags.provider`. Adapters are loaded by
 * dynamic import only when the config names them, so a vendor SDK is needed only by the
 * teams that use that vendor; a missing SDK is an error naming the package to install.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Provider } from '@openfeature/server-sdk';
import type { ValidatedConfig } from '../config/index.js';
import { SwitchyardError } from '../errors.js';
import type { ControlPlane, HasControlPlane } from '../ports.js';

type Options = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** The vendor section's `control_plane` block (validated by the config schema), in the adapter's terms. */
function control<T>(o: Options, map: (c: Options) => T): T | undefined {
  const c = o.control_plane;
  return c !== null && typeof c === 'object' ? map(c as Options) : undefined;
}

export async function providerFromConfig(config: ValidatedConfig): Promise<Provider> {
  const ff = config.featureFlags;
  const o = ff.options as Options;
  const initTimeoutMs = ff.initTimeoutMs;
  switch (ff.provider) {
    case 'memory': {
      const { MemoryProvider } = await import('../../adapters/memory/index.js');
      const flags: Record<string, { variants: Record<string, never>; defaultVariant: string; disabled: boolean }> = {};
      for (const [key, flag] of Object.entries(ff.memoryFlags)) {
        flags[key] = {
          variants: flag.variants as Record<string, never>,
          defaultVariant: flag.defaultVariant,
          disabled: flag.disabled ?? false,
        };
      }
      // An experiment whose flag the config does not define gets an "on" gate, so the
      // embedded default runs every experiment without extra setup.
      for (const exp of config.experiments.values()) {
        flags[exp.flag] ??= { variants: { on: true, off: false } as never, defaultVariant: 'on', disabled: false };
      }
      return new MemoryProvider(flags as never);
    }
    case 'launchdarkly': {
      const { LaunchDarklyProvider, fileDataSource } = await import('../../adapters/launchdarkly/index.js');
      const filePaths = o.file_paths as string[] | undefined;
      return new LaunchDarklyProvider({
        initTimeoutMs,
        sdkKey: str(o.sdk_key),
        contextKind: str(o.context_kind),
        controlPlane: control(o, (c) => ({
          token: c.token as string,
          projectKey: c.project_key as string,
          environmentKey: c.environment_key as string,
          baseUrl: str(c.base_url),
        })),
        sdk: {
          ...(o.base_uri ? { baseUri: str(o.base_uri) } : {}),
          ...(o.stream_uri ? { streamUri: str(o.stream_uri) } : {}),
          ...(o.events_uri ? { eventsUri: str(o.events_uri) } : {}),
          ...(typeof o.stream === 'boolean' ? { stream: o.stream } : {}),
          ...(typeof o.send_events === 'boolean' ? { sendEvents: o.send_events } : {}),
          ...(filePaths
            ? { updateProcessor: await fileDataSource(filePaths), sendEvents: o.send_events === true }
            : {}),
        },
      });
    }
    case 'optimizely': {
      const { OptimizelyProvider } = await import('../../adapters/optimizely/index.js');
      const datafile = str(o.datafile);
      return new OptimizelyProvider({
        initTimeoutMs,
        sdkKey: str(o.sdk_key),
        datafile: datafile ? await readDatafile(datafile) : undefined,
        urlTemplate: str(o.url_template),
        updateIntervalMs: o.update_interval_ms as number | undefined,
        datafileAccessToken: str(o.datafile_access_token),
        valueVariable: str(o.value_variable),
        controlPlane: control(o, (c) => ({
          token: c.token as string,
          projectId: c.project_id as string | number,
          environmentKey: c.environment_key as string,
          baseUrl: str(c.base_url),
          ruleKey: str(c.rule_key),
        })),
      });
    }
    case 'split': {
      const { SplitProvider } = await import('../../adapters/split/index.js');
      return new SplitProvider({
        initTimeoutMs,
        sdkKey: str(o.sdk_key),
        urls: o.urls as { sdk?: string } | undefined,
        streaming: o.streaming as boolean | undefined,
        featuresRefreshRate: o.features_refresh_rate_s as number | undefined,
        segmentsRefreshRate: o.segments_refresh_rate_s as number | undefined,
        trafficType: str(o.traffic_type),
        controlPlane: control(o, (c) => ({
          token: c.token as string,
          workspaceId: c.workspace_id as string,
          environmentId: c.environment_id as string,
          baseUrl: str(c.base_url),
          onTreatment: str(c.on_treatment),
          offTreatment: str(c.off_treatment),
        })),
      });
    }
    case 'unleash': {
      const { UnleashProvider } = await import('../../adapters/unleash/index.js');
      const bootstrap = str(o.bootstrap);
      return new UnleashProvider({
        initTimeoutMs,
        url: str(o.url),
        appName: str(o.app_name),
        instanceId: str(o.instance_id),
        clientToken: str(o.client_token),
        environment: str(o.environment),
        refreshIntervalMs: o.refresh_interval_ms as number | undefined,
        offline: o.offline === true,
        metrics: o.metrics as boolean | undefined,
        bootstrap: bootstrap ? await readBootstrap(bootstrap) : undefined,
        controlPlane: control(o, (c) => ({
          token: c.token as string,
          url: str(c.url),
          project: str(c.project),
          environment: str(c.environment),
        })),
      });
    }
    case 'openfeature':
      return openFeatureModule(str(o.module)!, str(o.export) ?? 'default', o.options);
    default:
      throw new SwitchyardError(
        'SY_NOT_AVAILABLE',
        'feature_flags.provider',
        `the ${ff.provider} adapter is not part of this version of switchyard yet; use memory, launchdarkly, optimizely, split, unleash or openfeature, or pass an OpenFeature provider as createSwitchyard({ provider })`,
      );
  }
}

/**
 * The control plane of the vendor the config names, from its `control_plane` block, or
 * undefined when there is none. The adapter is constructed but not started: no SDK
 * connection is made.
 */
export async function controlPlaneFromConfig(config: ValidatedConfig): Promise<ControlPlane | undefined> {
  const provider = await providerFromConfig(config);
  return (provider as Partial<HasControlPlane>).controlPlane;
}

async function readDatafile(path: string, where = 'feature_flags.optimizely.datafile'): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new SwitchyardError('SY_CONFIG_READ', where, `cannot read the file ${path}: ${(error as Error).message}`);
  }
}

/** An Unleash bootstrap file: the client API's answer ({ features, segments? }) or a bare list of features. */
async function readBootstrap(path: string): Promise<{ features: never[]; segments?: unknown[] }> {
  const where = 'feature_flags.unleash.bootstrap';
  const text = await readDatafile(path, where);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SwitchyardError('SY_CONFIG_INVALID', where, `${path} is not JSON: ${(error as Error).message}`);
  }
  const features = Array.isArray(data) ? data : (data as { features?: unknown } | null)?.features;
  if (!Array.isArray(features))
    throw new SwitchyardError(
      'SY_CONFIG_INVALID',
      where,
      `${path} has no list of features: write the client API's answer ({ "features": [...] }) or a list of features`,
    );
  const segments = Array.isArray(data) ? undefined : (data as { segments?: unknown }).segments;
  return { features: features as never[], ...(Array.isArray(segments) ? { segments } : {}) };
}

const isProvider = (v: unknown): v is Provider =>
  typeof (v as Provider | null)?.resolveBooleanEvaluation === 'function';

/**
 * Any OpenFeature server provider from npm (or a path), resolved from the application's
 * directory: the named export may be a provider class (constructed with `options`), a
 * factory function (called with them) or a provider instance.
 */
export async function openFeatureModule(name: string, exportName: string, options: unknown): Promise<Provider> {
  const where = 'feature_flags.openfeature.module';
  let mod: Record<string, unknown>;
  try {
    const resolved = createRequire(pathToFileURL(`${process.cwd()}/`)).resolve(name);
    mod = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SwitchyardError(
      'SY_NOT_AVAILABLE',
      where,
      `cannot load the OpenFeature provider module "${name}": run "npm install ${name}" (${(error as Error).message})`,
    );
  }
  const found =
    mod[exportName] ??
    (exportName === 'default' ? undefined : (mod.default as Record<string, unknown> | undefined)?.[exportName]);
  if (found === undefined) {
    throw new SwitchyardError(
      'SY_CONFIG_INVALID',
      'feature_flags.openfeature.export',
      `module "${name}" has no export "${exportName}" (it has: ${Object.keys(mod).join(', ')})`,
    );
  }
  if (isProvider(found)) return found;
  if (typeof found === 'function') {
    const ctor = found as (new (o: unknown) => unknown) & ((o: unknown) => unknown);
    const made = isProvider(ctor.prototype) ? new ctor(options) : await ctor(options);
    if (isProvider(made)) return made;
  }
  throw new SwitchyardError(
    'SY_CONFIG_INVALID',
    'feature_flags.openfeature.export',
    `export "${exportName}" of "${name}" is not an OpenFeature provider (a class, factory or instance with resolveBooleanEvaluation)`,
  );
}
