"""Files: checkpoints that load without executing pickled code (:mod:`.checkpoint`), export of a
dream-ready model (:mod:`.export`) and the model card stored inside it (:mod:`.card`)."""
