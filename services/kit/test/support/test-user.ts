import { defineService, principalOf, type ServiceImplementation } from "@lattice/kit";
import { testDeclaration } from "@lattice/kit/testing";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";

/**
 * A stand-in serving the user contract, whose declared policies the auth tests rely on: CreateUser anonymous,
 * GetUser any valid token, ListUsers and DeleteUser the "admin" role. GetUser answers with the caller's subject.
 */
export function userModule(name = "user") {
  const user = (id: string) => ({ name: `users/${id}`, email: "", displayName: "", etag: "" });
  const implementation: ServiceImplementation<typeof UserServiceService> = {
    createUser: () => ({ user: user("new") }),
    getUser: (_request, ctx) => ({ user: user(principalOf(ctx)?.subject ?? "anonymous") }),
    listUsers: () => ({ users: [], nextPageToken: "" }),
    updateUser: () => ({ user: user("updated") }),
    deleteUser: () => ({}),
  };
  return defineService({
    declaration: testDeclaration(name, { grpcServices: ["lattice.user.v1.UserService"] }),
    setup({ server }) {
      server.addService(UserServiceService, implementation);
    },
  });
}
