# The committed src/sizeclasses.[ch] must be exactly what the generator
# writes: a hand edit, or a generator change without regenerating, fails here.
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  add_test(NAME sizeclasses_generated
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/mksizeclasses.py --check)
  set_tests_properties(sizeclasses_generated PROPERTIES TIMEOUT 120)
endif()
