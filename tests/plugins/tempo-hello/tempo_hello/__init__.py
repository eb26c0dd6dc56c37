"""A third-party plugin for tempo's tests: an uploader for `hello://` URIs that copies into a folder."""
