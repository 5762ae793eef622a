"""What the site says about usernames, as the accounts tests expect it."""


def dot_segment_error(username):
    return (
        f"“{username}” cannot be a username: web addresses give it a special meaning. "
        "Please choose another."
    )
