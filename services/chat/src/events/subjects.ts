/** Subjects chat publishes and consumes (`parley.<svc>.<entity>.<verb>`). */
export const chatSubjects = {
  messageCreated: "parley.chat.message.created",
  messageEdited: "parley.chat.message.edited",
  messageDeleted: "parley.chat.message.deleted",
  conversationCreated: "parley.chat.conversation.created",
  conversationUpdated: "parley.chat.conversation.updated",
  membersAdded: "parley.chat.conversation.members_added",
  memberRemoved: "parley.chat.conversation.member_removed",
  readUpdated: "parley.chat.read.updated",
} as const;

export const identitySubjects = {
  friendshipCreated: "parley.identity.friendship.created",
  friendshipRemoved: "parley.identity.friendship.removed",
  blockCreated: "parley.identity.block.created",
  blockRemoved: "parley.identity.block.removed",
  /** Periodic copy of a slice of the graph; the projection replaces that key range (reconcile). */
  graphSlice: "parley.identity.graph.slice",
} as const;
