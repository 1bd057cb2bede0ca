/**
 * The embedded default: what `npm start` runs with no -c. Data plane on 127.0.0.1:8080 in front of the built-in
 * demo origin on 127.0.0.1:8081, protected by the WAF with OWASP CRS; admin API on 127.0.0.1:9901, its reads
 * behind $BULWARK_ADMIN_READ_TOKEN (see defaultReadToken in src/main.ts).
 */
export const DEFAULT_CONFIG_YAML = `# Bulwark embedded default configuration
workers: auto
listeners:
  - name: public
    address: 127.0.0.1:8080
    protocols: [http1, h2c]
admin:
  address: 127.0.0.1:9901
  # Reads under /v1/ (events, bans) need this bearer token. \`bulwark start\` without -c makes one for the run and
  # prints it when BULWARK_ADMIN_READ_TOKEN is not set. Changing state needs tokens.write, which this file leaves out.
  tokens:
    read: \${BULWARK_ADMIN_READ_TOKEN}
demo_origin:
  address: 127.0.0.1:8081
pools:
  demo:
    origins:
      - url: http://127.0.0.1:8081
    health:
      path: /healthz
      interval: 5s
routes:
  - name: default
    pool: demo
    stages:
      access:
        rules:
          - action: deny
            paths: [/.git, /.env]
      # OWASP CRS at paranoia level 1, blocking (found in $BULWARK_CRS_DIR, ../shared/crs or the cache).
      waf: {}
`;
