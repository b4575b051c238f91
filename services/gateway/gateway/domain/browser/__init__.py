"""The data browser: typed filters compiled to SQL, sorting and keyset paging, slices, labeling sessions, metrics."""
