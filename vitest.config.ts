import { defineConfig } from "vitest/config";

// The vm project's tests need Debian's stock kernel: they run only inside the lane's guest
// (scripts/vm-lane.sh, `npm run test:vm`), where everything user-space is emulated and slow.
const vmGuest = process.env["HOSTNET_VM_GUEST"] === "1";
// The chaos lane's long runs (`npm run test:chaos`) take minutes: only when that lane asks for them.
const chaosLane = process.env["HOSTNET_CHAOS_LANE"] === "1";

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      ...(chaosLane
        ? [
            {
              test: {
                name: "chaos",
                include: ["test/chaos/**/*.test.ts"],
                testTimeout: 900_000,
                hookTimeout: 60_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
      ...(vmGuest
        ? [
            {
              test: {
                name: "vm",
                include: ["test/vm/**/*.test.ts"],
                testTimeout: 180_000,
                hookTimeout: 300_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
