# The C examples in README.md build and run: every ```c block becomes an
# executable readme_snippet_N (with the project's flags and sanitizers) and a
# test readme_snippet_N, so the README cannot drift from the API. The snippets
# are illustrations, so unused variables are allowed. Reconfigures when the
# README changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
file(READ ${PROJECT_SOURCE_DIR}/README.md tc_readme)
# C code is full of ';' (CMake's list separator) and brackets (which stop
# list splitting): hide them while the blocks travel as a list.
string(REPLACE ";" "@TC_SEMI@" tc_readme "${tc_readme}")
string(REPLACE "[" "@TC_LB@" tc_readme "${tc_readme}")
string(REPLACE "]" "@TC_RB@" tc_readme "${tc_readme}")
string(REGEX MATCHALL "```c\n[^`]*```" tc_readme_blocks "${tc_readme}")
set(tc_snippet 0)
foreach(block IN LISTS tc_readme_blocks)
  string(REGEX REPLACE "^```c\n" "" block "${block}")
  string(REGEX REPLACE "```$" "" block "${block}")
  string(REPLACE "@TC_SEMI@" ";" block "${block}")
  string(REPLACE "@TC_LB@" "[" block "${block}")
  string(REPLACE "@TC_RB@" "]" block "${block}")
  set(src ${CMAKE_CURRENT_BINARY_DIR}/readme/snippet_${tc_snippet}.c)
  file(WRITE ${src}.new "/* Generated from README.md by tests/readme.cmake. */\n${block}")
  configure_file(${src}.new ${src} COPYONLY) # rewrite only on change
  add_executable(readme_snippet_${tc_snippet} ${src})
  target_compile_options(readme_snippet_${tc_snippet} PRIVATE -Wno-unused-variable)
  target_link_libraries(readme_snippet_${tc_snippet} PRIVATE tricolor_static)
  add_test(NAME readme_snippet_${tc_snippet} COMMAND readme_snippet_${tc_snippet})
  set_tests_properties(readme_snippet_${tc_snippet} PROPERTIES TIMEOUT 60)
  math(EXPR tc_snippet "${tc_snippet} + 1")
endforeach()
if(tc_snippet EQUAL 0)
  message(FATAL_ERROR "tests/readme.cmake: no C blocks found in README.md")
endif()
