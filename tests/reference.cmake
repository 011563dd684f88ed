# test_reference exits 77 when /usr/bin/python3 with torch is missing: reported as skipped, not passed.
set_tests_properties(test_reference PROPERTIES SKIP_RETURN_CODE 77)
