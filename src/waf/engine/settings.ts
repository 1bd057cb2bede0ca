/** Engine settings: the Sec* configuration directives, with ModSecurity's defaults where Bulwark has none better. */
import type { EngineMode } from './rule.js';

export interface EngineSettings {
  mode: EngineMode;
  requestBodyAccess: boolean;
  /** Largest request body inspected, files included. */
  requestBodyLimit: number;
  /** Largest request body inspected, not counting multipart file contents. */
  requestBodyNoFilesLimit: number;
  /** Over the limit: refuse with 413, or inspect up to the limit. Never pass uninspected. */
  requestBodyLimitAction: 'reject' | 'process_partial';
  responseBodyAccess: boolean;
  responseBodyMimeTypes: Set<string>;
  responseBodyLimit: number;
  responseBodyLimitAction: 'reject' | 'process_partial';
  argumentsLimit: number;
  jsonDepthLimit: number;
  componentSignatures: string[];
}

export function defaultSettings(): EngineSettings {
  return {
    mode: 'on',
    requestBodyAccess: true,
    requestBodyLimit: 13 * 1024 * 1024,
    requestBodyNoFilesLimit: 128 * 1024,
    requestBodyLimitAction: 'reject',
    responseBodyAccess: false,
    responseBodyMimeTypes: new Set(['text/plain', 'text/html']),
    responseBodyLimit: 512 * 1024,
    responseBodyLimitAction: 'process_partial',
    argumentsLimit: 1000,
    jsonDepthLimit: 512,
    componentSignatures: [],
  };
}

function onOff(arg: string | undefined): boolean | string {
  const v = arg?.toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  return `got "${arg ?? ''}"; expected On or Off`;
}

function size(arg: string | undefined): number | string {
  if (arg === undefined || !/^\d+$/.test(arg)) return `got "${arg ?? ''}"; expected a number of bytes`;
  return Number(arg);
}

/** Applies one setting directive; returns a problem or undefined. Unknown-but-harmless ones are accepted. */
export function applySetting(s: EngineSettings, name: string, args: readonly string[]): string | undefined {
  const a = args[0];
  switch (name) {
    case 'secruleengine': {
      const v = a?.toLowerCase();
      if (v === 'on' || v === 'off') s.mode = v;
      else if (v === 'detectiononly') s.mode = 'detection_only';
      else return `got "${a ?? ''}"; expected On, Off or DetectionOnly`;
      return;
    }
    case 'secrequestbodyaccess':
    case 'secresponsebodyaccess': {
      const v = onOff(a);
      if (typeof v === 'string') return v;
      if (name === 'secrequestbodyaccess') s.requestBodyAccess = v;
      else s.responseBodyAccess = v;
      return;
    }
    case 'secrequestbodylimit':
    case 'secrequestbodynofileslimit':
    case 'secresponsebodylimit':
    case 'secargumentslimit':
    case 'secrequestbodyjsondepthlimit': {
      const v = size(a);
      if (typeof v === 'string') return v;
      if (name === 'secrequestbodylimit') s.requestBodyLimit = v;
      else if (name === 'secrequestbodynofileslimit') s.requestBodyNoFilesLimit = v;
      else if (name === 'secresponsebodylimit') s.responseBodyLimit = v;
      else if (name === 'secargumentslimit') s.argumentsLimit = v;
      else s.jsonDepthLimit = v;
      return;
    }
    case 'secrequestbodylimitaction':
    case 'secresponsebodylimitaction': {
      const v = a?.toLowerCase();
      const action = v === 'reject' ? 'reject' : v === 'processpartial' ? 'process_partial' : undefined;
      if (!action) return `got "${a ?? ''}"; expected Reject or ProcessPartial`;
      if (name === 'secrequestbodylimitaction') s.requestBodyLimitAction = action;
      else s.responseBodyLimitAction = action;
      return;
    }
    case 'secresponsebodymimetype':
      for (const arg of args) for (const t of arg.split(/\s+/)) if (t) s.responseBodyMimeTypes.add(t.toLowerCase());
      return;
    case 'secresponsebodymimetypesclear':
      s.responseBodyMimeTypes.clear();
      return;
    case 'seccomponentsignature':
      if (a) s.componentSignatures.push(a);
      return;
    default:
      // Audit log, debug log, temp dirs, PCRE limits...: Bulwark has its own logging and no PCRE.
      return;
  }
}
