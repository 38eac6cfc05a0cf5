// A command that must end the process with a particular status and has nothing more to
// print (128 + signal after Ctrl-C / SIGTERM, a supervised child's own status) throws
// ExitStatus; main() returns its status without a message.

export class ExitStatus extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}
