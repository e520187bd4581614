"""Chat's pages: the agent inbox, the website widget (loader + iframe) and reports.

Thin entry points: parse, call one selector or service, render. JSON endpoints live in chat.api."""
