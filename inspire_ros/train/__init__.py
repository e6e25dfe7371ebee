"""Training the learned blocks (mask UNet, instance generator). Needs the `torch` extra,
except the dataset builder, which uses the runtime's own crop and edge code."""
