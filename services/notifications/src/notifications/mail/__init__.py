"""E-mail: one mail per user and batching window, sent from the ``email_batches`` queue."""
