/**
 * One request timeout, rendered into every layer a request crosses, each
 * layer waiting a little longer than the one behind it so the innermost
 * gives up first and the visitor gets its answer (a 502/504 from nginx)
 * rather than a reset or a CDN's error page:
 *
 *   gunicorn timeout < nginx proxy_read/send_timeout ≤ ALB idle timeout
 *     ≤ CDN origin timeout, and nginx keepalive_timeout > ALB idle timeout
 *
 * the order the policy check `gunicorn-timeout-below-proxy` and
 * `nginx-keepalive-timeout` hold every plan to. The defaults (a 30 s request)
 * give the values the stacks had before the setting existed (nginx 60 s,
 * ALB 60 s, keepalive 75 s), so upgrading changes no server and no balancer.
 */

/** nginx's own default proxy_read_timeout; nginx never waits less. */
export const NGINX_MIN_PROXY_SECONDS = 60;
/** How much longer nginx waits than gunicorn (gunicorn's arbiter checks its workers about once a second). */
export const PROXY_MARGIN_SECONDS = 5;
/** nginx keeps idle client connections this much longer than the balancer, so the balancer always closes first. */
export const KEEPALIVE_MARGIN_SECONDS = 15;
/** The ALB's idle timeout range (LoadBalancerAttribute idle_timeout.timeout_seconds). */
export const ALB_MAX_IDLE_SECONDS = 4000;

/**
 * The longest a CDN waits for the origin's response, by default:
 * CloudFront's origin response timeout is 1–60 s unless AWS raises the quota
 * ("Response timeout", CloudFront Developer Guide, values that you specify when
 * you create or update a distribution); Cloudflare answers 524 after 100 s on
 * every plan but Enterprise (Cloudflare docs, "Error 524: a timeout occurred").
 */
export const CDN_ORIGIN_LIMIT_SECONDS = { cloudfront: 60, cloudflare: 100 } as const;

export interface RequestTimeouts {
  /** gunicorn's worker timeout: the longest a request may run. */
  gunicornSeconds: number;
  /** nginx's proxy_read_timeout and proxy_send_timeout. */
  proxySeconds: number;
  /** The ALB's idle timeout, and CloudFront's origin response timeout. */
  balancerIdleSeconds: number;
  /** nginx's keepalive_timeout. */
  keepaliveSeconds: number;
}

/** Every layer's timeout for a request that may run `requestSeconds`. */
export function requestTimeouts(requestSeconds: number): RequestTimeouts {
  const proxySeconds = Math.max(NGINX_MIN_PROXY_SECONDS, requestSeconds + PROXY_MARGIN_SECONDS);
  return {
    gunicornSeconds: requestSeconds,
    proxySeconds,
    balancerIdleSeconds: proxySeconds,
    keepaliveSeconds: proxySeconds + KEEPALIVE_MARGIN_SECONDS,
  };
}

/** The longest request a CDN in front lets through: the origin limit less nginx's margin. */
export function longestRequestBehind(cdn: keyof typeof CDN_ORIGIN_LIMIT_SECONDS): number {
  return CDN_ORIGIN_LIMIT_SECONDS[cdn] - PROXY_MARGIN_SECONDS;
}
