/** Ports: services one capability offers another through the registry, without either importing the other. */

/**
 * A typed key for a service one capability offers another without either importing the other: the consumer declares
 * the key beside the interface it needs (the rate limiter's shared-limit port lives with ratelimit), a provider
 * module binds it, and the consumer asks `ports.get(KEY)`.
 */
export interface Port<T> {
  readonly name: string;
  /** Never set; carries T for the type checker. */
  readonly type?: T;
}

export function definePort<T>(name: string): Port<T> {
  return Object.freeze({ name });
}

export interface Ports {
  get<T>(port: Port<T>): T | undefined;
}
