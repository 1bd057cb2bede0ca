/** Request body processors: URL-encoded, multipart, JSON and XML into the variables rules inspect. */
export { parseUrlEncoded, urlDecodeArg } from './urlencoded.js';
export { parseJson } from './json.js';
export { parseMultipart } from './multipart.js';
export { parseXml } from './xml.js';
export type { BodyError, BodyLimits, MultipartFile, ParsedBody, ParsedMultipart, ParsedXml } from './types.js';
