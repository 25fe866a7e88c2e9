/**
 * The CHECKS.md items marked [L]: they need a live AWS account, so they are
 * listed here (for the docs and the plan output, as "needs a live cloud")
 * with the offline checks that cover part of them locally.
 */
import type { LiveCheck } from "./types";

export const LIVE_CHECKS: LiveCheck[] = [
  {
    id: "live-ec2-recovers-from-terminate",
    title: "The single box recovers from a terminate",
    refs: [],
    localEquivalents: ["ec2-instance-profile", "ec2-no-secrets-in-user-data", "backup-plan-covers-data"],
    howToRun: "Terminate the instance, `pulumi up`, and check the new box provisions from user data and serves /healthz with its data restored.",
  },
  {
    id: "live-rds-snapshot-restore",
    title: "RDS snapshot-restore drill",
    refs: ["WA REL09-BP04"],
    localEquivalents: ["rds-backup-retention", "rds-final-snapshot", "backup-plan-covers-data"],
    howToRun: "Restore the latest snapshot to a new instance, point a staging stack at it, and run the app's smoke tests.",
  },
  {
    id: "live-rds-reboot-with-failover",
    title: "RDS reboot with failover",
    refs: ["WA REL10-BP01"],
    localEquivalents: ["rds-multi-az"],
    howToRun: "`aws rds reboot-db-instance --force-failover` during load; the app reconnects with no lasting errors.",
  },
  {
    id: "live-s3-direct-url-403",
    title: "A direct bucket URL returns 403",
    refs: ["CKV_AWS_70"],
    localEquivalents: ["s3-public-access-block", "s3-read-only-through-cloudfront", "s3-acls-disabled"],
    howToRun: "curl https://<bucket>.s3.amazonaws.com/<key> → 403, while the same key through CloudFront → 200.",
  },
  {
    id: "live-alb-targets-heal",
    title: "Targets healthy; a terminated instance is replaced; instance refresh serves no 5xx",
    refs: ["WA REL11-BP03"],
    localEquivalents: ["alb-target-group-health-check", "asg-elb-health-check", "nginx-alb-healthz", "alb-deregistration-delay"],
    howToRun: "Terminate one fleet VM under load and run an instance refresh; the ALB's 5xx count stays at zero.",
  },
  {
    id: "live-alb-healthz-allowed-hosts",
    title: "ALB health checks pass despite ALLOWED_HOSTS",
    refs: ["CKV_AWS_261"],
    localEquivalents: ["nginx-alb-healthz", "django-env-production"],
    howToRun: "After deploy, `aws elbv2 describe-target-health` shows every target healthy.",
  },
  {
    id: "live-sqs-round-trip",
    title: "A task round-trips; a poison message reaches the DLQ",
    refs: [],
    localEquivalents: ["sqs-dead-letter-queue", "sqs-visibility-timeout", "sqs-worker-role-scoped"],
    howToRun: "Enqueue a task and see it run; enqueue one that always fails and see it in the DLQ after maxReceiveCount receives.",
  },
  {
    id: "live-secrets-rotation-reconnect",
    title: "Rotation runs and the app reconnects",
    refs: ["CKV2_AWS_57"],
    localEquivalents: ["secrets-rotation", "rds-managed-password"],
    howToRun: "`aws secretsmanager rotate-secret`, then the app keeps serving (it re-reads the secret on auth failure).",
  },
  {
    id: "live-acm-certificate-issued",
    title: "The ACM certificate is issued",
    refs: ["CKV_AWS_233"],
    localEquivalents: ["acm-dns-validation", "acm-create-before-destroy", "cloudfront-tls"],
    howToRun: "After `pulumi up`, the certificate status is ISSUED and HTTPS serves it.",
  },
  {
    id: "live-backup-restore-drill",
    title: "Periodic restore drill from AWS Backup",
    refs: ["WA REL09-BP04"],
    localEquivalents: ["backup-plan-covers-data", "backup-vault-kms"],
    howToRun: "Restore the latest recovery point into a scratch stack and run the app's smoke tests against it.",
  },
];
