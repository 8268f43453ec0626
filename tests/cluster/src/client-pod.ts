import { kubectlOk, pods } from "./kube.js";

/**
 * A pod to call services from inside the cluster: the order image (node, the kit and the contracts) sleeping,
 * labelled app.kubernetes.io/name=lattice-client (the cluster value set admits it to the entry services).
 * Returns its name once Ready.
 */
export async function clientPod(namespace: string, name = "lattice-client"): Promise<string> {
  const order = (await pods(namespace, "app.kubernetes.io/name=order"))[0];
  if (!order) throw new Error(`no order pod in ${namespace} to take the image from`);
  const manifest = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "app.kubernetes.io/name": "lattice-client" } },
    spec: {
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "client",
          image: order.spec.containers[0]!.image,
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "infinity"],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
  await kubectlOk(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
  await kubectlOk(["wait", "-n", namespace, `pod/${name}`, "--for=condition=Ready", "--timeout=90s"]);
  return name;
}

/** Runs an ES module script with node in the client pod, from /app (where the image's packages resolve). */
export const nodeScriptArgs = (namespace: string, pod: string, script: string): string[] => [
  "exec",
  "-n",
  namespace,
  pod,
  "--",
  "sh",
  "-c",
  'cd /app && exec node --input-type=module -e "$0"',
  script,
];
