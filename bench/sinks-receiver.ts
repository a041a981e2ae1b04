/**
 * A platform receiver in a process of its own for the sinks benchmark (the platform is
 * another machine; its parsing should not be charged to the sender; argv: the platform and
 * optionally the port, to come back on the same one after an outage): sends its port over
 * IPC, then answers "accepted" with the count of events accepted so far, of distinct ids
 * among them, and the CPU time
 * it has used (ms), so the benchmark can tell whether the receiver is the limit.
 */
import { PlatformReceiver, type Platform } from '../test/helpers/platforms.js';

const receiver = await new PlatformReceiver(process.argv[2] as Platform, false).start(Number(process.argv[3] ?? 0));
process.send!({ port: receiver.port });
process.on('message', (m) => {
  if (m === 'accepted') {
    const cpu = process.cpuUsage();
    process.send!({ accepted: receiver.accepted, unique: receiver.ids.size, cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});
process.on('disconnect', () => process.exit(0));
