import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serviceNaming, ServiceNameError } from "../src/new-service/naming.js";

describe("new service names", () => {
  it("derive the proto package, gRPC service, file, module and identifiers from a DNS label", () => {
    assert.deepEqual(serviceNaming("shipping-quote"), {
      service: "shipping-quote",
      pascal: "ShippingQuote",
      camel: "shippingQuote",
      protoPackage: "lattice.shipping_quote.v1",
      grpcService: "ShippingQuoteService",
      fullGrpcService: "lattice.shipping_quote.v1.ShippingQuoteService",
      protoFile: "lattice/shipping_quote/v1/shipping_quote.proto",
      protoModule: "@lattice/proto/lattice/shipping_quote/v1/shipping_quote",
      definition: "ShippingQuoteServiceService",
    });
    assert.equal(serviceNaming("inventory").fullGrpcService, "lattice.inventory.v1.InventoryService");
    assert.equal(serviceNaming("a2b-c3").pascal, "A2bC3");
  });

  it("refuse what is not a DNS label starting with a letter, and double hyphens", () => {
    for (const bad of ["", "Inventory", "shipping_quote", "9lives", "-x", "x-", "a--b", "a.b", "x".repeat(64)])
      assert.throws(() => serviceNaming(bad), ServiceNameError, JSON.stringify(bad));
    assert.throws(() => serviceNaming("Bad"), /"Bad" is not a service name: use a DNS label/);
    assert.doesNotThrow(() => serviceNaming("x".repeat(63)));
  });
});
