/**
 * What every django-tiers component shares: the type-token prefix, typed
 * transform hooks for children, and the naming rule for children.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Type tokens are `django-tiers:index:<Component>`. */
export const TOKEN_PREFIX = "django-tiers:index:";

/**
 * Customise a child before it is created: either a partial args object
 * (shallow-merged over ours) or a callback that edits or replaces the args
 * and options. Components expose one per child, e.g. `transform.instance`.
 */
export type Transform<T> =
  | Partial<T>
  | ((args: T, opts: pulumi.CustomResourceOptions, name: string) => void | T);

/** Applies a transform hook to a child's args and options. */
export function applyTransform<T extends object>(
  transform: Transform<T> | undefined,
  name: string,
  args: T,
  opts: pulumi.CustomResourceOptions,
): [T, pulumi.CustomResourceOptions] {
  if (transform === undefined) return [args, opts];
  if (typeof transform === "function") {
    const replaced = transform(args, opts, name);
    return [replaced ?? args, opts];
  }
  return [{ ...args, ...transform }, opts];
}

/**
 * Base class: children are named `${name}-<role>` and always get
 * `{ parent: this }`. Role names are stable strings, never list positions a
 * user could reorder: renaming one replaces the cloud resource, so a rename
 * must ship an alias.
 */
export abstract class Component extends pulumi.ComponentResource {
  protected constructor(type: string, public readonly name: string, opts?: pulumi.ComponentResourceOptions) {
    super(TOKEN_PREFIX + type, name, {}, opts);
  }

  /** The logical name of the child with this role. */
  protected childName(role: string): string {
    return `${this.name}-${role}`;
  }

  /** Creates a child with our naming, our parent and the user's transform. */
  protected child<A extends object, R>(
    ctor: new (name: string, args: A, opts?: pulumi.CustomResourceOptions) => R,
    role: string,
    args: A,
    transform?: Transform<A>,
    opts: pulumi.CustomResourceOptions = {},
  ): R {
    const name = this.childName(role);
    const [finalArgs, finalOpts] = applyTransform(transform, name, args, { ...opts, parent: this });
    return new ctor(name, finalArgs, { ...finalOpts, parent: this });
  }
}

/** What a managed service's security group admits: its port, from each client group, named by role. */
export interface ServiceAccess {
  vpcId: pulumi.Input<string>;
  /** The role the group marks (policies/ admit data ports only from app and worker groups). */
  role: "database" | "cache";
  /** The service, for descriptions: postgres, valkey, … */
  service: string;
  port: number;
  /** Client security groups by role; one rule each, named `from-<role>`. */
  clients: Record<string, pulumi.Input<string>>;
  transform?: Transform<aws.ec2.SecurityGroupArgs>;
}

/**
 * The security group of a managed service (children `sg` and `from-<role>`
 * of `parent`): nothing but its clients' groups reaches its port.
 */
export function serviceSecurityGroup(parent: Component, access: ServiceAccess): aws.ec2.SecurityGroup {
  const sgName = `${parent.name}-sg`;
  const [sgArgs, sgOpts] = applyTransform<aws.ec2.SecurityGroupArgs>(access.transform, sgName, {
    vpcId: access.vpcId,
    description: `django-tiers ${access.service}: only the app and worker servers connect`,
    tags: stackTags({ Name: sgName, "django-tiers:role": access.role }),
  }, { parent });
  const securityGroup = new aws.ec2.SecurityGroup(sgName, sgArgs, { ...sgOpts, parent });
  for (const [role, client] of Object.entries(access.clients)) {
    new aws.vpc.SecurityGroupIngressRule(`${parent.name}-from-${role}`, {
      securityGroupId: securityGroup.id,
      referencedSecurityGroupId: client,
      ipProtocol: "tcp",
      fromPort: access.port,
      toPort: access.port,
      description: `${access.service} from the ${role} servers`,
    }, { parent });
  }
  return securityGroup;
}

/** Tags every taggable child carries, so a bill or a console search finds the stack. */
export function stackTags(extra: Record<string, string> = {}): Record<string, string> {
  return {
    "django-tiers:project": pulumi.getProject(),
    "django-tiers:stack": pulumi.getStack(),
    ...extra,
  };
}
