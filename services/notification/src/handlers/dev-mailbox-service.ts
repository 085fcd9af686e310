/** parley.notification.v1.DevMailboxService: public, mounted only with DEV_MAILBOX=true and no SMTP_URL (embedded development). */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { DevMailboxService, type ListDevMailRequest } from "@parley/gen/parley/notification/v1/notification_pb";
import type { DevMailbox } from "../mail/dev-mailbox.js";

export function routeDevMailboxService(router: ConnectRouter, mailbox: DevMailbox): void {
  router.service(DevMailboxService, {
    async listDevMail(req: ListDevMailRequest) {
      if (req.to.trim() === "") throw new ConnectError("to is empty; pass the recipient's email address", Code.InvalidArgument);
      return { mails: mailbox.list(req.to) };
    },
  });
}
