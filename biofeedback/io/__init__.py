"""File formats: RR text files (Kubios style) and WFDB beat annotations."""
