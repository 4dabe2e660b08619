"""The staff pages: the login-protected server (`playbook serve`), the page sections, and
the Voila notebooks and template they are served from."""
