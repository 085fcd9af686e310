/** The contract's method options against the platform's policy table. */
import { create, createFileRegistry, setExtension, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MethodOptionsSchema, file_google_protobuf_descriptor } from "@bufbuild/protobuf/wkt";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { MessageService } from "@parley/gen/parley/chat/v1/message_pb";
import { AuthService } from "@parley/gen/parley/identity/v1/auth_pb";
import { FriendService } from "@parley/gen/parley/identity/v1/friend_pb";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { NotificationService } from "@parley/gen/parley/notification/v1/notification_pb";
import { file_parley_options_v1_options, MethodPolicySchema, policy } from "@parley/gen/parley/options/v1/options_pb";
import { describe, expect, it } from "vitest";
import { startServer } from "../src/server.js";
import { createTestPlatform } from "../src/testing.js";
import type { ServiceModule } from "../src/types.js";
import { assertPoliciesExist, methodRules, rateLimitPolicies } from "../src/rate-limit-policies.js";

const services: DescService[] = [AuthService, UserService, FriendService, ConversationService, MessageService, NotificationService];
const allMethods = services.flatMap((s) => s.methods);

/** A one-method service whose option names `rateLimit`, built like protoc would. */
function serviceWithPolicy(rateLimit: string): DescService {
  const options = create(MethodOptionsSchema);
  setExtension(options, policy, create(MethodPolicySchema, { rateLimit }));
  const file = create(FileDescriptorProtoSchema, {
    name: "fixture/v1/fixture.proto",
    package: "fixture.v1",
    syntax: "proto3",
    dependency: ["google/protobuf/descriptor.proto", "parley/options/v1/options.proto"],
    messageType: [{ name: "Empty" }],
    service: [{ name: "FixtureService", method: [{ name: "Do", inputType: ".fixture.v1.Empty", outputType: ".fixture.v1.Empty", options }] }],
  });
  const registry = createFileRegistry(file, (name) =>
    name === "parley/options/v1/options.proto" ? file_parley_options_v1_options : name === "google/protobuf/descriptor.proto" ? file_google_protobuf_descriptor : undefined,
  );
  const svc = registry.getService("fixture.v1.FixtureService");
  if (!svc) throw new Error("fixture service not built");
  return svc;
}

describe("rate-limit policies", () => {
  it("cover every policy the contracts name", () => {
    expect(allMethods.length).toBeGreaterThan(30);
    expect(() => assertPoliciesExist(allMethods)).not.toThrow();
  });

  it("mark exactly the sign-up/sign-in methods public", () => {
    const publicMethods = allMethods.filter((m) => methodRules(m, 1).public).map((m) => `${m.parent.name}.${m.name}`);
    expect(publicMethods.sort()).toEqual(
      ["AuthService.Login", "AuthService.Refresh", "AuthService.Register", "AuthService.ResendVerification", "AuthService.VerifyEmail"].sort(),
    );
  });

  it("default to the default policy and scale limits, never below 1", () => {
    const getMe = UserService.method.getMe;
    expect(methodRules(getMe, 1)).toMatchObject({ public: false, policyName: "default", policy: rateLimitPolicies.default });
    expect(methodRules(AuthService.method.register, 2).policy).toEqual({ limit: 40, windowMs: 60_000, burst: 20 });
    expect(methodRules(AuthService.method.resendVerification, 0.01).policy).toMatchObject({ limit: 1, burst: 1 });
  });

  it("declare a burst no larger than the sustained limit for every policy", () => {
    for (const [name, p] of Object.entries(rateLimitPolicies)) {
      expect(p.burst, name).toBeGreaterThanOrEqual(1);
      expect(p.burst, name).toBeLessThanOrEqual(p.limit);
    }
  });

  it("fail fast, naming the method, when a contract names an unknown policy", () => {
    const svc = serviceWithPolicy("turbo");
    expect(() => assertPoliciesExist([...allMethods, ...svc.methods])).toThrow(
      /fixture\.v1\.FixtureService\.Do names rate-limit policy "turbo", which is not one of: default, auth/,
    );
  });

  it("stop the server from starting when a served method names an unknown policy", async () => {
    const p = await createTestPlatform();
    try {
      const svc = serviceWithPolicy("turbo");
      const module: ServiceModule = { name: "bad", routes: (r) => void r.service(svc, {}), start: async () => {}, stop: async () => {} };
      await expect(startServer({ deps: p.deps, modules: [module], port: 0, host: "127.0.0.1" })).rejects.toThrow(/unknown rate-limit policies/);
    } finally {
      await p.close();
    }
  }, 60_000);
});
