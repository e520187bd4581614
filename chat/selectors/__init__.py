"""Chat's reads, with the access check folded in: "missing" and "not yours" look the same.
They never write and never import chat.services (import-linter: chat's layers).

Import from here: `from chat import selectors; selectors.conversation_for_agent(...)`.

access: NotFound, the access models (AgentScope, Access) · agents: who may take a
conversation · conversations: lists, pages, one conversation · inboxes: the widget's inbox
and contacts · messages: history, resume frames, file references · plan: what the plan
allows chat · presence: agents' states · settings: the settings pages' reads."""

from chat.selectors.access import (
    EVERYONE,
    Access,
    AgentScope,
    NotFound,
    agent_scope,
    agent_still_admitted,
    contact_access,
)
from chat.selectors.agents import assignable_agents, candidate_ids
from chat.selectors.conversations import (
    BadCursor,
    ConversationCursor,
    contact_conversation_count,
    contact_read_seq,
    conversation_for_agent,
    conversation_for_contact,
    conversation_latest_for_contact,
    conversation_page_for_agent,
    conversation_ref_for_agent,
    conversation_rows_for_api,
    conversations_for_agent,
    unread_counts,
)
from chat.selectors.inboxes import (
    contact_get,
    inbox_agents_online,
    inbox_by_key,
    inbox_is_open,
    inbox_list,
    inbox_origin_allowed,
    inbox_public_settings,
)
from chat.selectors.messages import (
    attachment_get,
    attachment_id_from_token,
    attachment_ref,
    attachment_url,
    message_payload,
    messages_after,
    messages_page,
    replay_frames,
)
from chat.selectors.plan import max_upload_bytes, plan_has_feature
from chat.selectors.presence import presence_online_ids, presence_states
from chat.selectors.settings import (
    canned_response_get,
    canned_responses,
    inbox_conversation_count,
    inbox_get,
    label_get,
    label_list,
    team_get,
    team_list,
)

__all__ = [
    "EVERYONE", "Access", "AgentScope", "BadCursor", "ConversationCursor", "NotFound",
    "agent_scope", "agent_still_admitted", "assignable_agents", "attachment_get", "attachment_id_from_token",
    "attachment_ref", "attachment_url", "canned_response_get", "canned_responses", "candidate_ids",
    "contact_access", "contact_conversation_count", "contact_get", "contact_read_seq", "conversation_for_agent",
    "conversation_for_contact", "conversation_latest_for_contact", "conversation_page_for_agent",
    "conversation_ref_for_agent", "conversation_rows_for_api", "conversations_for_agent", "inbox_agents_online",
    "inbox_by_key", "inbox_conversation_count", "inbox_get", "inbox_is_open", "inbox_list", "inbox_origin_allowed",
    "inbox_public_settings", "label_get", "label_list", "max_upload_bytes", "message_payload", "messages_after",
    "messages_page", "plan_has_feature", "presence_online_ids", "presence_states", "replay_frames",
    "team_get", "team_list", "unread_counts",
]
