/** Subjects notification consumes (published by identity and chat). */
export const IDENTITY = {
  userRegistered: "parley.identity.user.registered",
  verificationRequested: "parley.identity.user.verification_requested",
  registrationAttempted: "parley.identity.user.registration_attempted",
  friendRequestCreated: "parley.identity.friend_request.created",
  friendRequestAccepted: "parley.identity.friend_request.accepted",
  blockCreated: "parley.identity.block.created",
  blockRemoved: "parley.identity.block.removed",
  /** Periodic copy of a slice of the social graph; block slices reconcile the block projection. */
  graphSlice: "parley.identity.graph.slice",
} as const;

export const CHAT = {
  conversationCreated: "parley.chat.conversation.created",
  membersAdded: "parley.chat.conversation.members_added",
  messageCreated: "parley.chat.message.created",
} as const;
