"""Code shared by tap-planhat, target-planhat and planhat-sandbox: the model registry and HTTP."""
