/** Config fixtures shared by tests. */

/** Three mistakes: an unknown key (line 4), a misspelt pool (line 11), a malformed duration (line 13). */
export const THREE_MISTAKES_YAML = `listeners:
  - name: public
    address: 127.0.0.1:8080
    protocol: [http1]
pools:
  main:
    origins:
      - url: http://127.0.0.1:9000
routes:
  - name: api
    pool: mian
    timeouts:
      connect: 5 seconds
`;
