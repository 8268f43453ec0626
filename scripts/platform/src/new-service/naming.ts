/** A service name that cannot be used; the message says why. */
export class ServiceNameError extends Error {
  override readonly name = "ServiceNameError";
}

/** Every name a new service is known by, derived from its DNS-label name. */
export interface ServiceNaming {
  /** The service name: folder, package @lattice/<service>, Kubernetes objects, log field; e.g. "shipping-quote". */
  readonly service: string;
  /** PascalCase, e.g. "ShippingQuote". */
  readonly pascal: string;
  /** camelCase, for TypeScript identifiers, e.g. "shippingQuote". */
  readonly camel: string;
  /** The protobuf package, e.g. "lattice.shipping_quote.v1". */
  readonly protoPackage: string;
  /** The gRPC service, e.g. "ShippingQuoteService". */
  readonly grpcService: string;
  /** Its full name, as declared in grpcServices, e.g. "lattice.shipping_quote.v1.ShippingQuoteService". */
  readonly fullGrpcService: string;
  /** The .proto file under proto/, e.g. "lattice/shipping_quote/v1/shipping_quote.proto". */
  readonly protoFile: string;
  /** The generated TypeScript module, e.g. "@lattice/proto/lattice/shipping_quote/v1/shipping_quote". */
  readonly protoModule: string;
  /** The generated grpc-js definition (ts-proto names it <Service>Service), e.g. "ShippingQuoteServiceService". */
  readonly definition: string;
}

/** A DNS label (as the kit's declarations require), without "--", which would not map back from its proto name. */
const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The names of a new service called `name`. Throws ServiceNameError unless `name` is a DNS label of lower-case
 * letters, digits and single hyphens, starting with a letter (e.g. "inventory", "shipping-quote").
 */
export function serviceNaming(name: string): ServiceNaming {
  if (!DNS_LABEL.test(name) || name.includes("--")) {
    throw new ServiceNameError(
      `"${name}" is not a service name: use a DNS label of lower-case letters, digits and single hyphens, ` +
        "starting with a letter and at most 63 characters (e.g. inventory or shipping-quote)",
    );
  }
  const words = name.split("-");
  const pascal = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("");
  const snake = words.join("_");
  const protoPackage = `lattice.${snake}.v1`;
  const grpcService = `${pascal}Service`;
  const protoPath = `lattice/${snake}/v1/${snake}`;
  return {
    service: name,
    pascal,
    camel: pascal.charAt(0).toLowerCase() + pascal.slice(1),
    protoPackage,
    grpcService,
    fullGrpcService: `${protoPackage}.${grpcService}`,
    protoFile: `${protoPath}.proto`,
    protoModule: `@lattice/proto/${protoPath}`,
    definition: `${grpcService}Service`,
  };
}
