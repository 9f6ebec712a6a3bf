"""No models of its own: seed_city writes the other apps' tables.

This module must exist anyway. Django sends post_migrate only for apps with a models
module, and apps.organization synchronises the role groups on the post_migrate of the
*last* installed app, which is this one (see organization/apps.py `_sync_roles`).
"""
